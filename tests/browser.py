"""Headless Chromium for the browser tests: Debian's chromium and chromium-driver, one set of flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# quiet, sandbox-free, nothing fetched from the network by the browser itself
HEADLESS_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
)


def chromium_options(profile_dir: Any, width: int, height: int, *extra: str) -> Any:
    """ChromeOptions for a fresh headless profile of the given window size."""
    from selenium.webdriver.chrome.options import Options

    opts = Options()
    opts.binary_location = str(CHROMIUM)
    for arg in (*HEADLESS_FLAGS, f"--user-data-dir={profile_dir}", f"--window-size={width},{height}", *extra):
        opts.add_argument(arg)
    return opts
