// A bot's lifecycle: the intents the API takes (each starts a workflow whose steps the page shows live), and
// deleting it, confirmed first. Which actions its status takes now is the API's to say (the bot's allowed_actions).
import { useEffect, useRef, useState } from "react";
import { api, idempotencyKey, unwrap, type Schemas } from "../api/client";
import { navigate } from "../lib/router";
import { ActionButton, ErrorBox, useAction, useWorkspace } from "../lib/ui";
import type { Bot, BotLive } from "./bot_live";

const ACTIONS: [Schemas["BotAction"], string][] = [
  ["restart", "Restart"], ["stop", "Stop"], ["start", "Start"], ["pause", "Pause"], ["resume", "Resume"],
  ["provision", "Provision"],
];

export function LifecycleActions({ bot, live }: { bot: Bot; live: BotLive }) {
  const workspace = useWorkspace();
  const action = useAction();
  const [pending, setPending] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const path = { workspace_id: workspace.id, bot_id: bot.id };
  const busyWith = bot.intent ? `Its ${bot.intent.action} workflow is running` : null;
  const allowed = new Set<string>(bot.allowed_actions ?? []);
  const notNow = (name: string) => (allowed.has(name) || busyWith ? null : `Not while ${bot.status}`);

  const request = async (name: Schemas["BotAction"]) => {
    setPending(name);
    const ok = await action.run(async () => unwrap(await api().POST("/workspaces/{workspace_id}/bots/{bot_id}/{action}", {
      params: { path: { ...path, action: name }, header: { "idempotency-key": idempotencyKey() } },
    })));
    setPending(null);
    if (ok) live.reload();
  };

  const remove = async () => {
    let gone = false;
    const ok = await action.run(async () => {
      const result = await api().DELETE("/workspaces/{workspace_id}/bots/{bot_id}", {
        params: { path, header: { "if-match": `"${bot.version}"` } },
      });
      unwrap(result);
      gone = result.response.status === 204; // it had no gateway: gone at once; 202: its workflow removes it
    });
    setConfirming(false);
    if (ok && gone) navigate(`/w/${encodeURIComponent(workspace.id)}/fleets/${encodeURIComponent(bot.fleet_id)}`);
    else if (ok) live.reload();
  };

  return (
    <section aria-labelledby="actions-title">
      <h2 id="actions-title">Lifecycle</h2>
      {/* while a workflow owns the bot, the fieldset disables every action at once, with the one note saying why */}
      <fieldset className="toolbar plain" disabled={!!busyWith} aria-describedby={busyWith ? "actions-busy" : undefined}>
        <legend className="sr-only">Lifecycle actions</legend>
        {ACTIONS.map(([name, label]) => (
          <ActionButton key={name} op="POST /workspaces/{workspace_id}/bots/{bot_id}/{action}" role={workspace.role}
            busy={pending === name} disabledReason={notNow(name)} onClick={() => void request(name)}>
            {label}
          </ActionButton>
        ))}
        <ActionButton op="DELETE /workspaces/{workspace_id}/bots/{bot_id}" role={workspace.role} className="danger"
          disabledReason={notNow("delete")} onClick={() => setConfirming(true)}>
          Delete…
        </ActionButton>
      </fieldset>
      {busyWith && <p id="actions-busy" className="muted">{busyWith}: the actions wait for it to end.</p>}
      {confirming && <ConfirmDelete bot={bot} busy={action.busy} onConfirm={() => void remove()} onCancel={() => setConfirming(false)} />}
      {action.error !== null && <ErrorBox error={action.error} />}
    </section>
  );
}

function ConfirmDelete({ bot, busy, onConfirm, onCancel }: {
  bot: Bot; busy: boolean; onConfirm: () => void; onCancel: () => void;
}) {
  const workspace = useWorkspace();
  const box = useRef<HTMLDivElement>(null);
  // the safe choice takes focus: Enter right away cancels
  useEffect(() => { box.current?.querySelector<HTMLButtonElement>("button.cancel")?.focus(); }, []);
  return (
    <div ref={box} role="group" aria-labelledby="confirm-delete" className="confirm">
      <p id="confirm-delete"><strong>Delete bot {bot.name}?</strong> Its gateway is removed first, then the bot and
        its revisions. This cannot be undone.</p>
      <ActionButton op="DELETE /workspaces/{workspace_id}/bots/{bot_id}" role={workspace.role} className="danger"
        busy={busy} onClick={onConfirm}>Delete bot {bot.name}</ActionButton>{" "}
      <button type="button" className="cancel" onClick={onCancel}>Cancel</button>
    </div>
  );
}
