"""pytest configuration for the chapters: `pytest --nbval-lax book/` runs them in smoke mode.

The kernel nbval starts inherits this environment, and every chapter's `parameters` cell picks
tiny sizes when GAN_TUTORIAL_SMOKE=1. Smoke mode shrinks the work; it runs the same code.
"""

import os

os.environ.setdefault("GAN_TUTORIAL_SMOKE", "1")
