"""Serves the built browser UI (web/dist) with a fallback to index.html for client-side routes."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>telemed</title>
<p>The web bundle is not built. Run <code>./run start</code>, or <code>npm ci && npm run build</code> in web/.</p>"""


class SinglePageApp(StaticFiles):
    """Static files; unknown paths that are not API paths get index.html so the router can take them."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.index = directory / "index.html"

    async def get_response(self, path: str, scope: Scope) -> Response:
        if not self.index.exists():
            return HTMLResponse(NOT_BUILT, status_code=503)
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or path.startswith(("api/", "assets/")):
                raise
            response = await super().get_response("index.html", scope)
        if path.startswith("assets/"):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
