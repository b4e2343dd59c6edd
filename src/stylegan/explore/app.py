"""The explorer's web application (FastAPI): the page in ``static/`` and a JSON API over ``Explorer``.

Every endpoint answers a user's mistake (a missing file, a non-network file, a malformed value) with
a 4xx status and ``{"error": "<one line>"}``, which the page shows; nothing a request carries stops
the server. Rendering requests are latest-wins per client (``?client=``): a request still waiting
when a newer one arrives answers ``{"superseded": true}`` without rendering.

Endpoints:

- ``GET /``: the page; ``GET /static/...``: its script and style.
- ``GET /api/state``: the open network (config, layers, style presets), recent networks, shipped
  names, device, roots, output folder.
- ``GET /api/networks``: network files and run directories under the roots (for the page's list).
- ``POST /api/open`` ``{"path": ...}``: open a network file, run directory or shipped name.
- ``POST /api/render``: ``Settings`` -> the picture (PNG data URL) and its layer, shape, dtype,
  statistics and render time.
- ``POST /api/w/export``: ``Settings`` -> ``.npz`` (key ``w``, [num_ws, w_dim]);
  ``POST /api/w/import``: an uploaded ``.npz`` -> ids for ``Settings.w_id``.
- ``POST /api/directions/upload`` (a direction file) and ``POST /api/directions/compute``
  (``{"method": "sefa" | "ganspace", "components": K}``): editing directions for
  ``Settings.direction_id`` / ``edit_strengths``.
- ``POST /api/project``: project an uploaded image (multipart: ``file``, ``steps``, ``distance``,
  ``w_plus``) in the background; ``GET /api/project``: its progress and, when done, the w's id.
- ``POST /api/save``: save the picture as a PNG; ``POST /api/video``: record an animation;
  ``GET /api/output/<name>``: a file the explorer wrote.
- ``POST /api/artifacts``: the circular-artifact tools on the current image; ``GET /api/pin``: the
  PIN gates of a ``stylegan1-pin`` network.
"""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from stylegan.errors import UserError
from stylegan.explore.render import PRECISIONS, Settings, artifact_tools, pin_gates
from stylegan.explore.session import Explorer, Superseded

STATIC = Path(__file__).resolve().parent / "static"


class OpenRequest(BaseModel):
    path: str


class DirectionRequest(BaseModel):
    method: str = "sefa"
    components: int = 10


class VideoRequest(BaseModel):
    settings: Settings = Settings()
    kind: str = "latent"
    frames: int = 60
    fps: float = 30.0
    speed: float = 0.25


def png_bytes(picture, compress_level: int = 1) -> bytes:
    """A uint8 [H, W, 3] picture (or a PIL image) as PNG bytes (fast compression: the page is local)."""
    from PIL import Image

    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def data_url(picture) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(picture)).decode("ascii")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(explorer: Explorer) -> FastAPI:
    """The application serving ``explorer``."""
    app = FastAPI(title="stylegan explore", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.explorer = explorer
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(UserError)
    async def user_error(request: Request, e: UserError):
        return _error(400, str(e))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError):
        parts = []
        for err in e.errors()[:3]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
            parts.append(f"{where or 'request'}: {err.get('msg', 'invalid value')}")
        return _error(422, "; ".join(parts) or "invalid request")

    @app.exception_handler(OSError)
    async def os_error(request: Request, e: OSError):
        from stylegan.utils.files import describe_os_error

        return _error(500, describe_os_error(e))

    @app.exception_handler(Exception)
    async def internal(request: Request, e: Exception):  # a bug, not the user's doing: said so in the page
        return _error(500, f"internal error ({e.__class__.__name__}: {e}); the server goes on")

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/api/state")
    def state():
        from stylegan.io.zoo import shipped_networks

        return {
            "network": explorer.network,
            "recent": explorer.recent,
            "shipped": list(shipped_networks()),
            "device": str(explorer.device),
            "roots": [str(r) for r in explorer.roots],
            "outdir": str(explorer.outdir),
            "precisions": list(PRECISIONS),
        }

    @app.get("/api/networks")
    def networks():
        found, truncated = explorer.browse()
        return {"networks": found, "truncated": truncated}

    @app.post("/api/open")
    def open_network(body: OpenRequest):
        start = time.perf_counter()
        info = explorer.open(body.path)
        return {"network": info, "recent": explorer.recent, "open_ms": round((time.perf_counter() - start) * 1e3, 1)}

    @app.post("/api/render")
    def render(settings: Settings, client: str = "default"):
        start = time.perf_counter()
        try:
            rendered = explorer.render(settings, client)
        except Superseded:
            return {"superseded": True}
        url = data_url(rendered.picture)
        info = rendered.info()
        info["total_ms"] = round((time.perf_counter() - start) * 1000, 1)
        info["device"] = str(explorer.device)
        info["precision"] = settings.precision
        return {"superseded": False, "image": url, **info}

    @app.post("/api/w/export")
    def export_w(settings: Settings):
        data = explorer.export_w(settings)
        return Response(
            data, media_type="application/octet-stream", headers={"Content-Disposition": 'attachment; filename="w.npz"'}
        )

    @app.post("/api/w/import")
    def import_w(file: UploadFile = File(...)):
        data = file.file.read()
        ids = explorer.import_w(data, file.filename or "w.npz")
        return {"ids": ids, "count": len(ids)}

    @app.post("/api/directions/upload")
    def upload_direction(file: UploadFile = File(...)):
        return explorer.load_direction(file.file.read(), file.filename or "direction.safetensors")

    @app.post("/api/directions/compute")
    def compute_directions(body: DirectionRequest):
        return explorer.compute_directions(body.method, body.components)

    @app.post("/api/project")
    def project(
        file: UploadFile = File(...),
        steps: int = Form(200),
        distance: str = Form("mse"),
        w_plus: bool = Form(False),
        class_idx: int | None = Form(None),
    ):
        return explorer.start_projection(
            file.file.read(), file.filename or "target.png", steps, distance, w_plus, class_idx=class_idx
        )

    @app.get("/api/project")
    def projection_status():
        return explorer.projection

    @app.post("/api/save")
    def save(settings: Settings):
        path = explorer.save_image(settings)
        return {"path": str(path), "url": f"/api/output/{path.name}"}

    @app.post("/api/video")
    def video(body: VideoRequest):
        start = time.perf_counter()
        path = explorer.record_video(body.settings, body.kind, body.frames, body.fps, body.speed)
        return {"path": str(path), "url": f"/api/output/{path.name}", "seconds": round(time.perf_counter() - start, 2)}

    @app.get("/api/output/{name}")
    def output(name: str):
        path = explorer.output_path(name)
        if not path.is_file():
            return _error(404, f"no file {name} in {explorer.outdir}")
        return FileResponse(path)

    @app.post("/api/artifacts")
    def artifacts(settings: Settings):
        G = explorer.require()
        result = explorer.run_locked(
            lambda: artifact_tools(G, settings, explorer.imported, directions=explorer.directions)
        )
        result["energy_figure"] = data_url(result["energy_figure"])
        result["profile_figure"] = data_url(result["profile_figure"])
        return result

    @app.get("/api/pin")
    def pin():
        G = explorer.require()
        return {"gates": pin_gates(G)}

    return app
