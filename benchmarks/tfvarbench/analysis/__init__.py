"""Analysis of saved cases: cost models, regression verdicts, history. Never imports TensorFlow."""
