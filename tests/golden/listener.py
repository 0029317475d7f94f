"""The capturing listener: a fake broker that saves request frames."""

from __future__ import annotations

import collections
import hashlib
import os
import selectors
import socket
import struct
import threading
import time
import traceback

from wire import APIS, APIVERSIONS_KEY, ProtocolError, is_flexible, log
from schemas import decode_request_body, describe_request, parse_request_header, request_variant
from responses import BrokerState, Handlers, encode_response, unsupported_api_versions_response


# ---------------------------------------------------------------------------
# Capturing listener
# ---------------------------------------------------------------------------
MAX_FRAME = 64 * 1024 * 1024


class Conn:
    def __init__(self, sock, peer):
        self.sock = sock
        self.peer = peer
        self.inbuf = bytearray()
        self.outq: collections.deque = collections.deque()  # [due_time, bytes]
        self.wbuf = bytearray()


class CaptureListener:
    """Fake broker: saves request frames and answers them."""

    def __init__(self, out_dir: str, host: str = "127.0.0.1", verbose: bool = False):
        self.out_dir = out_dir
        self.host = host
        self.verbose = verbose
        self.client = "unknown"      # set by the driver before each client run
        self.step = ""
        self.client_info: dict = {}
        self.min_override: dict[int, int] = {}  # see Handlers.min_override
        self.entries: list[dict] = []
        self.seen: set = set()
        self.counts = collections.Counter()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = None
        self._sel = None
        self._lsock = None
        self._conns: dict = {}
        self._drop_all = False
        self.port = 0
        self.state = None
        self.handlers = None

    # -- lifecycle --------------------------------------------------------
    def start(self):
        self._lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind((self.host, 0))
        self._lsock.listen(64)
        self._lsock.setblocking(False)
        self.port = self._lsock.getsockname()[1]
        self.state = BrokerState(self.port)
        self.handlers = Handlers(self.state)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._lsock, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._run, name="capture-listener", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        for c in list(self._conns.values()):
            self._close(c)
        if self._sel:
            try:
                self._sel.close()
            except Exception:
                pass
        if self._lsock:
            self._lsock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def reset_state(self):
        """Fresh broker state (topics, log, groups) for the next client."""
        with self.state.lock:
            self.state = BrokerState(self.port)
            self.handlers = Handlers(self.state)

    def close_connections(self):
        """Ask the listener thread to drop client connections left over by a finished run."""
        self._drop_all = True

    # -- event loop -------------------------------------------------------
    def _run(self):
        self._drop_all = False
        while not self._stop.is_set():
            try:
                timeout = 0.05
                for key, mask in self._sel.select(timeout):
                    if key.data is None:
                        self._accept()
                    else:
                        conn = key.data
                        if mask & selectors.EVENT_READ:
                            self._read(conn)
                        if mask & selectors.EVENT_WRITE and conn.sock.fileno() != -1:
                            self._write(conn)
                if self._drop_all:
                    self._drop_all = False
                    for c in list(self._conns.values()):
                        self._close(c)
                now = time.monotonic()
                for c in list(self._conns.values()):
                    while c.outq and c.outq[0][0] <= now:
                        c.wbuf += c.outq.popleft()[1]
                    if c.wbuf:
                        self._write(c)
            except Exception:
                log("listener loop error:\n" + traceback.format_exc())

    def _accept(self):
        try:
            sock, peer = self._lsock.accept()
        except (BlockingIOError, OSError):
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(sock, peer)
        self._conns[sock.fileno()] = conn
        self._sel.register(sock, selectors.EVENT_READ, conn)
        if self.verbose:
            log(f"[{self.client}] connection from {peer}")

    def _close(self, conn):
        fd = conn.sock.fileno()
        if fd == -1:
            return
        try:
            self._sel.unregister(conn.sock)
        except Exception:
            pass
        self._conns.pop(fd, None)
        try:
            conn.sock.close()
        except OSError:
            pass

    def _write(self, conn):
        try:
            n = conn.sock.send(conn.wbuf)
            del conn.wbuf[:n]
        except BlockingIOError:
            pass
        except OSError:
            self._close(conn)
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.wbuf else 0)
        try:
            self._sel.modify(conn.sock, events, conn)
        except (KeyError, ValueError):
            pass

    def _read(self, conn):
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        conn.inbuf += data
        while len(conn.inbuf) >= 4:
            (size,) = struct.unpack_from(">i", conn.inbuf, 0)
            if size < 8 or size > MAX_FRAME:
                log(f"[{self.client}] bad frame size {size} from {conn.peer}; closing")
                self._close(conn)
                return
            if len(conn.inbuf) < 4 + size:
                break
            frame = bytes(conn.inbuf[4:4 + size])
            del conn.inbuf[:4 + size]
            if not self._handle_frame(conn, frame):
                self._close(conn)
                return

    # -- requests ---------------------------------------------------------
    def _handle_frame(self, conn, frame: bytes) -> bool:
        """Capture and answer one request; False closes the connection."""
        try:
            hdr = parse_request_header(frame)
        except ProtocolError as e:
            log(f"[{self.client}] unparsable request header ({e}); closing")
            return False
        key, ver, corr = hdr["api_key"], hdr["api_version"], hdr["correlation_id"]
        if key not in APIS:
            log(f"[{self.client}] unknown api key {key} v{ver} (client_id={hdr['client_id']!r}); closing")
            self.errors.append(f"{self.client}: unknown api key {key} v{ver}")
            return False
        name, lo, hi, _flex = APIS[key]
        if key == APIVERSIONS_KEY and ver > hi:
            # A broker answers a too-new ApiVersions with v0 + UNSUPPORTED_VERSION.
            self._save(hdr, frame, {}, 0, note="version newer than the listener supports")
            conn.outq.append([0, unsupported_api_versions_response(corr)])
            return True
        try:
            body, trailing = decode_request_body(hdr, frame)
        except ProtocolError as e:
            log(f"[{self.client}] cannot decode {name} v{ver}: {e}; closing")
            self.errors.append(f"{self.client}: cannot decode {name} v{ver}: {e}")
            self._save(hdr, frame, None, 0, note=f"body not decoded: {e}")
            return False
        self._save(hdr, frame, body, trailing)
        if not lo <= ver <= hi:
            log(f"[{self.client}] {name} v{ver} is outside the advertised range {lo}-{hi}")
        with self.state.lock:
            self.handlers.min_override = self.min_override
            try:
                resp, delay = getattr(self.handlers, Handlers.TABLE[key])(ver, body, hdr)
            except Exception:
                log(f"[{self.client}] handler error for {name} v{ver}:\n{traceback.format_exc()}")
                self.errors.append(f"{self.client}: handler error for {name} v{ver}")
                return False
        if resp is None:
            return True
        try:
            out = encode_response(key, ver, corr, resp)
        except Exception:
            log(f"[{self.client}] encode error for {name} v{ver}:\n{traceback.format_exc()}")
            self.errors.append(f"{self.client}: encode error for {name} v{ver}")
            return False
        due = time.monotonic() + delay
        if conn.outq:
            due = max(due, conn.outq[-1][0])  # responses stay in request order
        conn.outq.append([due, out])
        return True

    def _save(self, hdr, frame, body, trailing, note=None):
        key, ver = hdr["api_key"], hdr["api_version"]
        name, lo, _hi, _flex = APIS[key]
        variant = request_variant(hdr, body) if body else ""
        self.counts[(self.client, name, ver)] += 1
        tag = (self.client, key, ver, variant)
        saved = tag not in self.seen
        if self.verbose or saved:
            log(f"[{self.client}] {name} v{ver}{'-' + variant if variant else ''} corr={hdr['correlation_id']} "
                f"client_id={hdr['client_id']!r} {len(frame)}B{' -> saved' if saved else ''}")
        if not saved:
            return
        self.seen.add(tag)
        fname = f"{name}-v{ver}{'-' + variant if variant else ''}.bin"
        rel = f"{self.client}/{fname}"
        path = os.path.join(self.out_dir, self.client, fname)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(frame)
        entry = {
            "file": rel,
            "client": self.client,
            "client_version": self.client_info.get("version"),
            "client_library": self.client_info.get("library"),
            "step": self.step,
            "api_name": name,
            "api_key": key,
            "api_version": ver,
            "variant": variant or None,
            "flexible": is_flexible(key, ver),
            "request_header_version": hdr["header_version"],
            "header_size": hdr["header_size"],
            "correlation_id": hdr["correlation_id"],
            "client_id": hdr["client_id"],
            "size": len(frame),
            "sha256": hashlib.sha256(frame).hexdigest(),
            "kafka4_min_version": lo,
            "below_kafka4_min": ver < lo,
        }
        if self.min_override:
            entry["advertised_min_override"] = {APIS[k][0]: v for k, v in sorted(self.min_override.items())}
        if hdr["header_tagged_fields"]:
            entry["header_tagged_fields"] = hdr["header_tagged_fields"]
        if body is not None:
            entry["fully_parsed"] = trailing == 0
            if trailing:
                entry["trailing_bytes"] = trailing
            entry["request"] = describe_request(hdr, body)
        if note:
            entry["note"] = note
        self.entries.append(entry)
