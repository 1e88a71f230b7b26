"""Lend the Resolve object to the background worker over its stdin/stdout pipes.

Resolve hands a menu script its ``resolve`` object, but the analysis runs in LipAlign's own Python
(a child process of the menu script). The menu script runs :class:`BridgeServer` on the child's
pipes: the worker writes one JSON request per line on its stdout, the server calls the real Resolve
object and writes the answer on the worker's stdin. Pipes belong to the two processes only, so nobody
else on the machine can reach Resolve through them; each message also carries a per-run secret
(``secrets.token_hex``, given to the worker in its environment) checked with ``hmac.compare_digest``,
and only the method names listed in :mod:`plugin.resolve_api` can be called.

Values cross as JSON: primitives and lists as themselves, every dict as ``{"$map": [[k, v], ...]}`` (so
float marker frames stay floats), and Resolve objects as ``{"$ref": handle}``. :class:`RemoteResolve`
on the worker side turns handles back into proxies whose method calls travel the same way, so
``plugin.timeline.align_timeline(resolve, ...)`` cannot tell a proxy from the live object.

The server half runs in whatever Python Resolve offers (3.6+): standard library, 3.6 syntax.
"""

# ruff: noqa: UP006, UP035, UP045

import hmac
import json
import os
import sys
import threading
from typing import IO, Any, Callable, Dict, FrozenSet, List, Optional, TextIO, Tuple

from plugin.resolve_api import ALL_METHODS

__all__ = ["TOKEN_ENV", "BridgeError", "BridgeServer", "RemoteObject", "RemoteResolve", "worker_channel"]

PROTOCOL = "lipalign.bridge/1"
TOKEN_ENV = "LIPALIGN_BRIDGE_TOKEN"
ROOT = 0


class BridgeError(Exception):
    """The bridge refused a request, or the call failed on the Resolve side (the message says which)."""


class BridgeServer:
    """Executes whitelisted method calls from the worker on real Resolve objects.

    Parameters
    ----------
    root : the ``resolve`` object (handle 0)
    token : the per-run secret every message must carry
    allowed : method names callable over the bridge (default: every name in plugin.resolve_api)
    """

    def __init__(self, root: Any, token: str, allowed: FrozenSet[str] = ALL_METHODS) -> None:
        if not token:
            raise ValueError("the bridge needs a non-empty secret token")
        self._token = token.encode("utf-8")
        self._allowed = allowed
        self._objects = {ROOT: root}  # type: Dict[int, Any]
        self._handles = {id(root): ROOT}  # type: Dict[int, int]

    def _handle_of(self, obj: Any) -> int:
        handle = self._handles.get(id(obj))
        if handle is None:
            handle = len(self._objects)
            self._objects[handle] = obj  # held so that id() stays unique for the run
            self._handles[id(obj)] = handle
        return handle

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, (list, tuple)):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            return {"$map": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        return {"$ref": self._handle_of(value)}

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if isinstance(value, dict):
            if "$ref" in value:
                if value["$ref"] not in self._objects:
                    raise BridgeError("unknown object handle {}".format(value["$ref"]))
                return self._objects[value["$ref"]]
            return {self.decode(k): self.decode(v) for k, v in value.get("$map", [])}
        return value

    def authorised(self, message: Dict[str, Any]) -> bool:
        token = message.get("token")
        return isinstance(token, str) and hmac.compare_digest(token.encode("utf-8"), self._token)

    def answer(self, message: Dict[str, Any]) -> Dict[str, Any]:
        """The reply to one request (``op`` "call" or "dir"); never raises."""
        reply = {"id": message.get("id")}  # type: Dict[str, Any]
        try:
            if not self.authorised(message):
                raise BridgeError("wrong or missing bridge token")
            target = self.decode({"$ref": message.get("handle", ROOT)})
            if message.get("op") == "dir":
                reply["result"] = [n for n in dir(target) if n in self._allowed]
            elif message.get("op") == "call":
                name = message.get("method")
                if name not in self._allowed:
                    raise BridgeError(f"method {name!r} is not allowed over the LipAlign bridge")
                method = getattr(target, name, None)
                if not callable(method):
                    raise BridgeError(f"this Resolve object has no method {name}")
                reply["result"] = self.encode(method(*self.decode(message.get("args", []))))
            else:
                raise BridgeError("unknown request {!r}".format(message.get("op")))
            reply["ok"] = True
        except Exception as exc:  # the worker gets the reason; the menu script keeps serving
            reply.update(ok=False, error=f"{type(exc).__name__}: {exc}")
        return reply

    def serve(self, requests: IO[str], replies: IO[str],
              on_event: Optional[Callable[[Dict[str, Any]], None]] = None) -> Optional[Dict[str, Any]]:
        """Answer the worker until it closes its end; return the payload of its last "done" event.

        Events (``op`` "progress", "log", "done", "error") carry no ``id`` and get no reply; they go to
        ``on_event`` when their token is right. A line that is not JSON is passed on as a "log" event.
        """
        done = None
        for line in requests:
            line = line.strip()
            if not line:
                continue
            try:
                message = json.loads(line)
                if not isinstance(message, dict):
                    raise ValueError(line)
            except ValueError:
                if on_event is not None:
                    on_event({"op": "log", "text": line})
                continue
            if message.get("op") in ("call", "dir"):
                replies.write(json.dumps(self.answer(message)) + "\n")
                replies.flush()
            elif self.authorised(message):
                if message.get("op") == "done":
                    done = message.get("summary")
                if on_event is not None:
                    on_event(message)
        return done


class RemoteObject:
    """A proxy for one Resolve object on the menu-script side; method calls go over the bridge."""

    def __init__(self, client: "RemoteResolve", handle: int) -> None:
        self._client = client
        self._handle = handle

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any) -> Any:
            return self._client.request("call", self._handle, method=name, args=list(args))

        call.__name__ = name
        return call

    def __dir__(self) -> List[str]:
        return list(self._client.request("dir", self._handle))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemoteObject) and other._handle == self._handle and other._client is self._client

    def __hash__(self) -> int:
        return hash(self._handle)

    def __repr__(self) -> str:
        return f"<Resolve object {self._handle} over the LipAlign bridge>"


class RemoteResolve(RemoteObject):
    """The worker's ``resolve``: the root proxy plus the channel (requests out, replies in)."""

    def __init__(self, replies: IO[str], requests: IO[str], token: str) -> None:
        super().__init__(self, ROOT)
        self._replies = replies
        self._requests = requests
        self._token = token
        self._next_id = 0
        self._proxies = {ROOT: self}  # type: Dict[int, RemoteObject]
        # The panel calls Resolve from its measuring thread and from its window (the playhead): one message
        # and its reply at a time keep the channel in step.
        self._lock = threading.RLock()

    @classmethod
    def from_environment(cls, replies: IO[str], requests: IO[str]) -> "RemoteResolve":
        token = os.environ.get(TOKEN_ENV, "")
        if not token:
            raise BridgeError(f"no bridge token in ${TOKEN_ENV}: the worker must be started by the menu script")
        return cls(replies, requests, token)

    def _encode(self, value: Any) -> Any:
        if isinstance(value, RemoteObject):
            return {"$ref": value._handle}
        if isinstance(value, (list, tuple)):
            return [self._encode(v) for v in value]
        if isinstance(value, dict):
            return {"$map": [[self._encode(k), self._encode(v)] for k, v in value.items()]}
        return value

    def _decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._decode(v) for v in value]
        if isinstance(value, dict):
            if "$ref" in value:
                handle = value["$ref"]
                if handle not in self._proxies:
                    self._proxies[handle] = RemoteObject(self, handle)
                return self._proxies[handle]
            return {self._decode(k): self._decode(v) for k, v in value.get("$map", [])}
        return value

    def request(self, op: str, handle: int, method: str = "", args: Optional[List[Any]] = None) -> Any:
        with self._lock:
            return self._request(op, handle, method, args)

    def _request(self, op: str, handle: int, method: str, args: Optional[List[Any]]) -> Any:
        self._next_id += 1
        message = {"id": self._next_id, "token": self._token, "op": op, "handle": handle}
        if op == "call":
            message.update(method=method, args=self._encode(args or []))
        self._requests.write(json.dumps(message) + "\n")
        self._requests.flush()
        line = self._replies.readline()
        if not line:
            raise BridgeError("the menu script closed the bridge (Resolve quit or the script was stopped)")
        reply = json.loads(line)
        if reply.get("id") != self._next_id:
            raise BridgeError("bridge out of step: expected reply {}, got {}".format(self._next_id, reply.get("id")))
        if not reply.get("ok"):
            raise BridgeError("{}: {}".format(method or op, reply.get("error")))
        return self._decode(reply.get("result"))

    def notify(self, op: str, **fields: Any) -> None:
        """Send an event (progress, log, done, error) to the menu script; no reply comes back."""
        message = {"op": op, "token": self._token}
        message.update(fields)
        with self._lock:
            self._requests.write(json.dumps(message) + "\n")
            self._requests.flush()


def worker_channel() -> Tuple[TextIO, TextIO]:
    """The worker's ends of the bridge (replies in, requests out), with fd 1 moved aside so that stray prints
    cannot corrupt the channel.

    Native libraries (MediaPipe, FFmpeg) write to fd 1 directly; after this they land in stderr (the log).
    """
    requests = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return sys.stdin, requests
