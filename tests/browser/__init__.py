"""Debian's Chromium through Playwright (marker `browser`) against a running platform: the web app as its users see it."""
