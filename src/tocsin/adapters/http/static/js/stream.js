// The event stream: a websocket that reconnects from the last sequence number it saw.
//
// `onEvent(msg)` gets every event; `onState(state, detail)` the connection state: connecting,
// live, reconnecting, unauthorized. A ping carries `last_seq`, the last event the server has
// gone past (filtered or not), so the resume point moves on even when nothing is sent.

import { token } from "./api.js";

// RFC 7230 token characters: what a subprotocol may hold.
const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const CLOSE_FELL_BEHIND = 4408;

export class Stream {
  constructor({ onEvent, onState, onOpen }) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.onOpen = onOpen;
    this.lastSeq = null; // null: never connected, start at the head
    this.delay = 500;
    this.ws = null;
    this.timer = null;
  }

  url() {
    const u = new URL("/api/v1/stream", location.href);
    u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    if (this.lastSeq !== null) u.searchParams.set("since", String(this.lastSeq));
    const t = token();
    if (t && !TCHAR.test(t)) u.searchParams.set("token", t);
    return u.toString();
  }

  connect() {
    clearTimeout(this.timer);
    const t = token();
    const protocols = t && TCHAR.test(t) ? ["tocsin", `bearer.${t}`] : [];
    this.onState(this.lastSeq === null ? "connecting" : "reconnecting");
    const ws = new WebSocket(this.url(), protocols);
    this.ws = ws;
    const resumed = this.lastSeq !== null;
    ws.onopen = () => {
      this.delay = 500;
      this.onState("live");
      this.onOpen(resumed);
    };
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.type === "ping") {
        if (this.lastSeq === null || msg.last_seq > this.lastSeq) this.lastSeq = msg.last_seq;
        return;
      }
      this.lastSeq = msg.seq;
      this.onEvent(msg);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      let wait = this.delay;
      if (e.code === CLOSE_FELL_BEHIND) {
        const m = /since=(\d+)/.exec(e.reason);
        if (m) this.lastSeq = Number(m[1]);
        wait = 100;
      }
      if (e.code === 4401 || e.code === 4403) {
        this.onState("unauthorized", e.reason);
        wait = 5000;
      } else {
        this.onState("reconnecting", e.reason || `closed (${e.code})`);
      }
      this.delay = Math.min(this.delay * 2, 5000);
      this.timer = setTimeout(() => this.connect(), wait);
    };
  }

  restart() {
    this.lastSeq = null; // a new token may see what the old one could not: load afresh
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.connect();
  }
}
