"""A FastAPI app (Starlette underneath) behind ``crossguard.asgi.CrossGuard``, served by uvicorn:
``python asgi_app.py PORT``."""

import sys

import uvicorn
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse
from page import PAGE, log

from crossguard import Policy
from crossguard.asgi import CrossGuard

api = FastAPI()


@api.get("/")
async def home() -> HTMLResponse:
    log("GET /")
    return HTMLResponse(PAGE)


@api.post("/api/prompt")
async def prompt(request: Request) -> JSONResponse:
    body = await request.body()
    log("POST /api/prompt", body.decode(errors="replace"))
    return JSONResponse({"queued": True})


@api.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    log("WS /ws", websocket.headers.get("origin"))
    await websocket.accept()
    message = await websocket.receive_text()
    await websocket.send_text("echo:" + message)
    await websocket.close()


app = CrossGuard(api, Policy("local"))

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
