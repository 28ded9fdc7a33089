"""Test session settings: Qt draws offscreen (no display, no apt packages), before anything imports Qt."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
