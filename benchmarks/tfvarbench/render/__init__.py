"""Rendering saved cases for people: tables, plots, the HTML page, the report directory. Never imports TensorFlow."""
