"""`python -m tfvarbench` is the `tfvarbench` command."""
from tfvarbench.cli import main

raise SystemExit(main())
