// A bot as it changes: read from the API, then kept current by the stream (its topic's bot.status, bot.step and
// bot.deleted messages). The API holds the truth: it is read again once the subscription is acknowledged (so
// nothing published before it is missed), after a reconnect, on each status change and when a workflow ends.
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api, unwrap, type Schemas } from "../api/client";
import { takeOver } from "../lib/follow";
import { useTopic, type StreamMessage } from "../lib/stream";

export type Bot = Schemas["BotDetail"];
export type Step = Schemas["WorkflowStep"];
export interface WorkflowView { id: string; action: string; running: boolean; steps: Step[] }

const WORKING = new Set(["CREATING", "RECONCILING", "DELETING"]); // a workflow owns the bot

export interface BotLive {
  bot?: Bot;
  error: unknown; // the last read's failure (the bot read, or its steps)
  workflow?: WorkflowView | null; // undefined: not read yet; null: no workflow ever ran
  live: boolean; // the stream acknowledged the bot's topic
  deleted: boolean;
  ended: number; // counts the workflows seen ending: what depends on them (revisions, logs) reloads
  reload: () => void;
  setBot: (bot: Bot) => void;
}

export function useBotLive(workspaceId: string, botId: string): BotLive {
  const [bot, setBot] = useState<Bot>();
  const [workflow, setWorkflow] = useState<WorkflowView | null>();
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState(false);
  const [deleted, setDeleted] = useState(false);
  const [ended, setEnded] = useState(0);
  const reads = useRef({ bot: 0, steps: 0 }); // a later read wins over an earlier one that answers late
  // step messages that arrived while the steps were being read: folded onto the read's answer, so a read that
  // started before a step changed cannot undo what the stream showed
  const stepsMeanwhile = useRef<StreamMessage[] | null>(null);
  const seen = useRef(false); // the bot was read once: a 404 now means it was deleted (a missed bot.deleted)
  // what the create page caught on the fleet's topic before this page subscribed to the bot's
  const handedOff = useRef<ReturnType<typeof takeOver>>(null);
  const path = { workspace_id: workspaceId, bot_id: botId };

  const readBot = useCallback(async () => {
    const seq = ++reads.current.bot;
    try {
      const read = unwrap(await api().GET("/workspaces/{workspace_id}/bots/{bot_id}", { params: { path } }));
      if (seq === reads.current.bot) { setBot(read); setError(null); seen.current = true; }
    } catch (caught) {
      if (seq !== reads.current.bot) return;
      if (seen.current && caught instanceof ApiError && caught.status === 404) setDeleted(true);
      else setError(caught);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [workspaceId, botId]);

  const readSteps = useCallback(async () => {
    const seq = ++reads.current.steps;
    stepsMeanwhile.current = [];
    try {
      const read = unwrap(await api().GET("/workspaces/{workspace_id}/bots/{bot_id}/provisioning", { params: { path } }));
      if (seq !== reads.current.steps) return;
      let view: WorkflowView | null = read.workflow
        ? { id: read.workflow.id, action: read.workflow.action, running: read.running, steps: read.steps } : null;
      for (const message of stepsMeanwhile.current ?? []) view = withStep(view, message.data, message.at);
      setWorkflow(view);
    } catch (caught) {
      if (seq === reads.current.steps) setError(caught);
    } finally {
      if (seq === reads.current.steps) stepsMeanwhile.current = null;
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [workspaceId, botId]);

  const reload = useCallback(() => { void readBot(); void readSteps(); }, [readBot, readSteps]);

  useEffect(() => {
    setBot(undefined);
    seen.current = false;
    setWorkflow(undefined);
    setDeleted(false);
    setLive(false);
    reload();
  }, [reload]);

  const onMessage = (message: StreamMessage) => {
    const data = message.data as Record<string, unknown>;
    if (message.type === "subscribed") {
      setLive(true);
      reload();
      handedOff.current?.close(); // the bot's own topic carries its messages from here
      handedOff.current = null;
      return;
    }
    if (data.bot_id !== botId) return;
    if (message.type === "bot.deleted") {
      setDeleted(true);
    } else if (message.type === "bot.step") {
      stepsMeanwhile.current?.push(message);
      setWorkflow((current) => withStep(current, data, message.at));
    } else if (message.type === "bot.status") {
      const status = String(data.status);
      setBot((current) => current && { ...current, status: status as Bot["status"], status_reason: (data.reason as string | null) ?? null });
      const requestId = typeof data.request_id === "string" ? data.request_id : null;
      if (WORKING.has(status) && requestId) {
        setWorkflow((current) => current?.id === requestId ? current
          : { id: requestId, action: String(data.action ?? ""), running: true, steps: [] });
      }
      if (!WORKING.has(status)) {
        setWorkflow((current) => current && { ...current, running: false });
        setEnded((n) => n + 1);
        void readSteps();
      }
      void readBot();
    }
  };

  const latest = useRef(onMessage);
  latest.current = onMessage;
  useEffect(() => {
    const watch = takeOver(botId);
    handedOff.current = watch;
    watch?.forwardTo((message) => latest.current(message));
    return () => watch?.close();
  }, [botId]);

  useTopic(`workspaces/${workspaceId}/bots/${botId}`, onMessage, reload);
  return { bot, error, workflow, live, deleted, ended, reload, setBot };
}

/** The view with a step's progress message folded in (a new request starts a new view). */
function withStep(current: WorkflowView | null | undefined, data: Record<string, unknown>, at: string): WorkflowView {
  const requestId = String(data.request_id ?? "");
  const view = current?.id === requestId ? current : { id: requestId, action: String(data.action ?? ""), running: true, steps: [] };
  const step: Step = {
    step: String(data.step), status: data.status as Step["status"], attempts: Number(data.attempts ?? 0),
    detail: (data.detail as string | null) ?? null, error: (data.error as string | null) ?? null,
  };
  const index = view.steps.findIndex((s) => s.step === step.step);
  const known = index < 0 ? undefined : view.steps[index];
  // the message's time stands for the step's until the API's record is read (at the workflow's end)
  step.started_at = known?.started_at ?? at;
  step.ended_at = step.status === "RUNNING" ? null : known?.ended_at ?? at;
  const steps = index < 0 ? [...view.steps, step] : view.steps.map((s, i) => (i === index ? step : s));
  return { ...view, steps };
}
