// The stream API (WebSocket): one connection per tab, topics subscribed on demand, resubscribed after a
// reconnect. Messages are {topic, type, data, at}. Pages also reload what they show on a reconnect: a message
// sent while the socket was down is not replayed, but the API always holds the state it described.
import { useEffect, useRef } from "react";
import { idToken } from "./auth";

export interface StreamMessage { topic: string; type: string; data: Record<string, unknown>; at: string }
type Handler = (message: StreamMessage) => void;

let wsUrl = "";
let socket: WebSocket | null = null;
let retryMs = 500;
const handlers = new Map<string, Set<Handler>>();
const reconnectListeners = new Set<() => void>();

export function initStream(url: string): void {
  wsUrl = url.replace(/\/$/, "");
}

function connect(): void {
  const token = idToken();
  if (socket || !token || handlers.size === 0) return;
  const opened = new WebSocket(`${wsUrl}/?token=${encodeURIComponent(token)}`);
  socket = opened;
  opened.onopen = () => {
    retryMs = 500;
    for (const topic of handlers.keys()) opened.send(JSON.stringify({ action: "subscribe", topic }));
    reconnectListeners.forEach((listener) => listener());
  };
  opened.onmessage = (event) => {
    let message: StreamMessage;
    try {
      message = JSON.parse(String(event.data));
    } catch {
      return;
    }
    handlers.get(message.topic)?.forEach((handler) => handler(message));
  };
  opened.onclose = () => {
    socket = null;
    if (handlers.size) window.setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15_000);
  };
}

/** Follow `topic` outside a component (the handler also gets the stream's reply: type "subscribed" or "error");
 *  returns the unsubscribe. */
export function subscribe(topic: string, handler: Handler): () => void {
  const set = handlers.get(topic) ?? new Set();
  const isNew = set.size === 0;
  set.add(handler);
  handlers.set(topic, set);
  if (socket?.readyState === WebSocket.OPEN && isNew) socket.send(JSON.stringify({ action: "subscribe", topic }));
  connect();
  return () => {
    set.delete(handler);
    if (set.size) return;
    handlers.delete(topic);
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ action: "unsubscribe", topic }));
    // Close only when nothing re-subscribes soon: moving between pages that follow topics keeps the socket.
    if (handlers.size === 0) window.setTimeout(() => { if (handlers.size === 0) socket?.close(); }, 5000);
  };
}

/** Call `onMessage` for each message on `topic` while the component is mounted, and `onReconnect` when the
 *  stream comes back (to reload what may have been missed). */
export function useTopic(topic: string | null, onMessage: Handler, onReconnect?: () => void): void {
  const latest = useRef({ onMessage, onReconnect });
  latest.current = { onMessage, onReconnect };
  useEffect(() => {
    if (!topic) return;
    const reconnect = () => latest.current.onReconnect?.();
    reconnectListeners.add(reconnect);
    const unsubscribe = subscribe(topic, (message) => latest.current.onMessage(message));
    return () => {
      reconnectListeners.delete(reconnect);
      unsubscribe();
    };
  }, [topic]);
}
