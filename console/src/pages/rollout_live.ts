// A rollout kept current: read from the API, then folded with the workspace topic's rollout.status /
// rollout.wave / rollout.bot messages as they come (the stream is the signal, the API the truth: a status or
// wave message, and a reconnect, read the rollout again). As the CLI's live view (clawster/cli/rollout_view.py).
import { useCallback, useEffect, useRef, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { useTopic, type StreamMessage } from "../lib/stream";

export type Rollout = Schemas["RolloutDetail"];
type Wave = Schemas["RolloutWaveOut"];
type Bot = Schemas["RolloutBotOut"];

const WAVE_FIELDS = ["status", "verdict", "reason", "readings", "gate_details"] as const;
const REREAD_MS = 300; // a burst of messages (a wave's end) reads the rollout once

/** The view with one stream message folded in (a new object; the same one when the message is not about it). */
export function fold(view: Rollout, message: StreamMessage): Rollout {
  const data = message.data;
  if (data.rollout_id !== view.id) return view;
  if (message.type === "rollout.status") {
    const status = String(data.status ?? view.status);
    // a message without a reason (a wave awaiting its approval) leaves it to the next read when the status moved
    const reason = "reason" in data ? (data.reason as string | null) : status === view.status ? view.status_reason : null;
    return { ...view, status, status_reason: reason };
  }
  const number = Number(data.wave);
  if (!view.waves.some((w) => w.number === number)) return view;
  const waves = view.waves.map((wave): Wave => {
    if (wave.number !== number) return wave;
    if (message.type === "rollout.wave") {
      const changed: Partial<Wave> = {};
      for (const key of WAVE_FIELDS) if (key in data) Object.assign(changed, { [key]: data[key] });
      return { ...wave, ...changed };
    }
    if (message.type !== "rollout.bot") return wave;
    const bot = { ...data } as unknown as Bot & { rollout_id?: unknown };
    delete bot.rollout_id;
    const known = wave.bots.some((b) => b.bot_id === bot.bot_id);
    return { ...wave, bots: known ? wave.bots.map((b) => (b.bot_id === bot.bot_id ? { ...b, ...bot } : b)) : [...wave.bots, bot] };
  });
  const current = message.type === "rollout.wave" ? Math.max(view.current_wave, number) : view.current_wave;
  return { ...view, waves, current_wave: current };
}

export interface LiveRollout { rollout?: Rollout; error: unknown; reload: () => void }

/** The rollout, live. Messages that arrive while a read is in flight are folded onto its answer too, so a read
 *  that started before a change cannot undo what the stream already showed. */
export function useLiveRollout(workspaceId: string, rolloutId: string): LiveRollout {
  const [rollout, setRollout] = useState<Rollout>();
  const [error, setError] = useState<unknown>(null);
  const reads = useRef(0);
  const during = useRef<StreamMessage[] | null>(null); // the messages since the read in flight began
  const timer = useRef<number | undefined>(undefined);

  const reload = useCallback(() => {
    const read = ++reads.current;
    during.current = [];
    void (async () => {
      try {
        const fresh = unwrap(await api().GET("/workspaces/{workspace_id}/rollouts/{rollout_id}",
          { params: { path: { workspace_id: workspaceId, rollout_id: rolloutId } } }));
        if (read !== reads.current) return; // a newer read is on its way
        setRollout((during.current ?? []).reduce(fold, fresh));
        setError(null);
      } catch (caught) {
        if (read === reads.current) setError(caught);
      } finally {
        if (read === reads.current) during.current = null;
      }
    })();
  }, [workspaceId, rolloutId]);

  const rereadSoon = useCallback(() => {
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(reload, REREAD_MS);
  }, [reload]);

  useEffect(() => {
    setRollout(undefined);
    reload();
    return () => window.clearTimeout(timer.current);
  }, [reload]);

  useTopic(`workspaces/${workspaceId}`, (message) => {
    if (message.type === "subscribed") return reload(); // what changed before the subscription held
    if (message.data.rollout_id !== rolloutId) return;
    during.current?.push(message);
    setRollout((view) => (view ? fold(view, message) : view));
    // a status or a wave's step changes what the rollout takes (allowed_actions) and its counts: read it again
    if (message.type !== "rollout.bot") rereadSoon();
  }, reload);

  return { rollout, error, reload };
}
