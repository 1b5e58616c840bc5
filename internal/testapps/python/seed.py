"""The lifespan pattern of the graceful-termination seed document (fixture).

Its lifespan tracks in-flight requests and /ready answers 503 once shutting
down. Debian's FastAPI predates the lifespan= argument, so the context
manager is set on app.router.lifespan_context.

Run: /usr/bin/python3 -m uvicorn seed:app --app-dir DIR --port 8000
Endpoints beyond the seed's POST /hello and /ready, to hold requests in
flight: /sleep?s=2, /slow?seconds=2 and /stream?seconds=2 (server-sent
events, one a second, then a done event), from load_endpoints.py.
"""
import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, HTTPException, Request

from load_endpoints import add_load_endpoints


@dataclass
class AppState:
    active_requests: int = 0
    shutting_down: bool = False
    shutdown_event: asyncio.Event = None
    lock: asyncio.Lock = None

    def __post_init__(self):
        if self.shutdown_event is None:
            self.shutdown_event = asyncio.Event()
        if self.lock is None:
            self.lock = asyncio.Lock()


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.app_state = AppState()
    yield
    state = app.state.app_state
    state.shutting_down = True
    if state.active_requests > 0:
        try:
            await asyncio.wait_for(state.shutdown_event.wait(), timeout=30.0)
        except asyncio.TimeoutError:
            pass


app = FastAPI()
app.router.lifespan_context = lifespan


@app.middleware("http")
async def track_requests(request: Request, call_next):
    state: AppState = request.app.state.app_state
    async with state.lock:
        if state.shutting_down:
            raise HTTPException(status_code=503, detail="Service shutting down")
        state.active_requests += 1
    try:
        response = await call_next(request)
        return response
    finally:
        async with state.lock:
            state.active_requests -= 1
            if state.shutting_down and state.active_requests == 0:
                state.shutdown_event.set()


@app.get("/ready")
async def ready(request: Request):
    state: AppState = request.app.state.app_state
    async with state.lock:
        if state.shutting_down:
            raise HTTPException(status_code=503, detail="Not ready - shutting down")
    return {"status": "ready", "active_requests": state.active_requests}


@app.post("/hello")
def hello():
    return {"message": "Hello Cerebrium!"}


add_load_endpoints(app)
