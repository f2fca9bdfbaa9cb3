// Following a new bot from before its create request: the create page subscribes to the fleet's topic BEFORE it
// sends the request (the bot's own topic cannot be named yet), as the CLI does, and hands the subscription with
// what it caught to the bot's page, which replays that and closes it once the bot's own topic is acknowledged.
// So no message between the request and the bot page's own subscription is lost.
import { subscribe, type StreamMessage } from "./stream";

const MAX_KEPT = 500;
const UNCLAIMED_MS = 120_000; // a hand-off nobody takes (the user went elsewhere) is closed after this

export class TopicWatch {
  private kept: StreamMessage[] = [];
  private forward: ((message: StreamMessage) => void) | null = null;
  private settled: boolean | null = null; // the stream's reply: subscribed (true) or refused (false)
  private waiting: ((ok: boolean) => void)[] = [];
  private readonly release: () => void;

  constructor(readonly topic: string) {
    this.release = subscribe(topic, (message) => this.take(message));
  }

  private take(message: StreamMessage): void {
    if (message.type === "subscribed" || message.type === "error") {
      this.settled = message.type === "subscribed";
      this.waiting.splice(0).forEach((resolve) => resolve(this.settled!));
    } else if (this.forward) {
      this.forward(message);
    } else if (this.kept.length < MAX_KEPT) {
      this.kept.push(message);
    }
  }

  /** Whether the subscription is in place, waiting at most `timeoutMs` for the stream's reply (false: not known;
   *  the caller goes on without it, and the pages read the API's state anyway). */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.settled !== null) return Promise.resolve(this.settled);
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      window.setTimeout(() => resolve(false), timeoutMs);
    });
  }

  /** Send what was kept, then each new message, to `handler`. */
  forwardTo(handler: (message: StreamMessage) => void): void {
    this.forward = handler;
    this.kept.splice(0).forEach(handler);
  }

  close(): void {
    this.forward = null;
    this.release();
  }
}

const handedOff = new Map<string, TopicWatch>();

export function handOff(botId: string, watch: TopicWatch): void {
  handedOff.set(botId, watch);
  window.setTimeout(() => {
    if (handedOff.get(botId) !== watch) return;
    handedOff.delete(botId);
    watch.close();
  }, UNCLAIMED_MS);
}

/** The watch the create page handed off for `botId`, if any (taken once). */
export function takeOver(botId: string): TopicWatch | null {
  const watch = handedOff.get(botId) ?? null;
  handedOff.delete(botId);
  return watch;
}
