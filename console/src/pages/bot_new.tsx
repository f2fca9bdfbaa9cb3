// Creating a bot in a fleet: its template (built-in or the workspace's), its own config, where it runs and at
// which size. With a target the bot is provisioned at once, and its page shows that live.
import { useEffect, useState, type FormEvent } from "react";
import { api, idempotencyKey, unwrap, type Schemas } from "../api/client";
import { TopicWatch, handOff } from "../lib/follow";
import { parseJsonObject, SubmitButton } from "../lib/forms";
import { readAll } from "../lib/pager";
import { Link, navigate } from "../lib/router";
import { nameable } from "../lib/targets";
import { ErrorBox, Page, Show, useAction, useLoad, useWorkspace } from "../lib/ui";

type Target = Schemas["TargetOut"];
const NO_TARGET = "";
const SUBSCRIBE_WAIT_MS = 3000; // the create waits this long at most for the stream to confirm its subscription

export function NewBotPage({ params }: { params: Record<string, string> }) {
  const workspace = useWorkspace();
  const fleetId = params.fleet;
  const choices = useLoad(async () => {
    const path = { workspace_id: workspace.id };
    const [fleet, builtIn, own, targets] = await Promise.all([
      api().GET("/workspaces/{workspace_id}/fleets/{fleet_id}", { params: { path: { ...path, fleet_id: fleetId } } }).then(unwrap),
      api().GET("/templates").then(unwrap),
      readAll(async (cursor) => unwrap(await api().GET("/workspaces/{workspace_id}/templates",
        { params: { path, query: { limit: 100, cursor } } }))),
      api().GET("/targets").then(unwrap),
    ]);
    return { fleet, builtIn: builtIn.items, own, targets: nameable(targets.items) };
  }, [workspace.id, fleetId]);
  const fleetName = choices.data?.fleet.name;
  return (
    <Page title={fleetName ? `New bot in ${fleetName}` : "New bot"}>
      <p><Link to={`/w/${encodeURIComponent(workspace.id)}/fleets/${encodeURIComponent(fleetId)}`}>Back to the fleet</Link></p>
      <Show loaded={choices} what="the templates and targets">
        {(data) => <NewBotForm fleetId={fleetId} {...data} />}
      </Show>
    </Page>
  );
}

function NewBotForm({ fleetId, fleet, builtIn, own, targets }: {
  fleetId: string; fleet: Schemas["FleetOut"]; builtIn: Schemas["TemplateOut"][]; own: Schemas["LayerOut"][];
  targets: Target[];
}) {
  const workspace = useWorkspace();
  const [name, setName] = useState("");
  const [template, setTemplate] = useState(builtIn[0]?.id ?? "");
  const [config, setConfig] = useState("");
  const [target, setTarget] = useState(fleet.target ?? NO_TARGET);
  const [size, setSize] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const action = useAction();
  const chosen = targets.find((t) => t.name === target);
  const sizes = takesSize(chosen) ? chosen!.size_tiers ?? [] : [];
  const watch = useFleetWatch(workspace.id, fleetId);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseJsonObject(config, "config");
    setProblem(parsed.error ?? (!template && !parsed.value ? "Choose a template, give a config, or both." : null));
    if (parsed.error || (!template && !parsed.value)) return;
    const body: Schemas["BotCreate"] = { name, tags: {} };
    if (template) body.template_id = template;
    if (parsed.value) body.config = parsed.value;
    if (target !== NO_TARGET) body.target = target as Schemas["Target"];
    if (target !== NO_TARGET && size) body.target_settings = { size };
    let created: Schemas["BotOut"] | undefined;
    const ok = await action.run(async () => {
      const live = watch.current;
      if (live) await live.ready(SUBSCRIBE_WAIT_MS); // subscribed before the request: nothing is missed
      created = unwrap(await api().POST("/workspaces/{workspace_id}/fleets/{fleet_id}/bots", {
        params: { path: { workspace_id: workspace.id, fleet_id: fleetId }, header: { "idempotency-key": idempotencyKey() } },
        body,
      }));
    });
    if (!ok || !created) return;
    if (watch.current) {
      handOff(created.id, watch.current);
      watch.current = null;
    }
    navigate(`/w/${encodeURIComponent(workspace.id)}/bots/${encodeURIComponent(created.id)}`);
  };

  return (
    <form className="stack-form" onSubmit={submit} aria-describedby="new-bot-help">
      <p id="new-bot-help" className="help">A bot is one OpenClaw gateway. Its config is its template, the fleet's
        profiles and the overlays that select it, and its own config on top. With a target it is provisioned at once.</p>
      <div className="field">
        <label htmlFor="bot-name">Name</label>
        <input id="bot-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
      </div>
      <div className="field">
        <label htmlFor="bot-template">Template</label>
        <select id="bot-template" value={template} onChange={(e) => setTemplate(e.target.value)}>
          <option value="">None: the config below only</option>
          <optgroup label="Built-in">
            {builtIn.map((t) => <option key={t.id} value={t.id}>{t.name} ({t.id})</option>)}
          </optgroup>
          {own.length > 0 && (
            <optgroup label="This workspace's">
              {own.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
            </optgroup>
          )}
        </select>
      </div>
      <div className="field">
        <label htmlFor="bot-config">Its own config (JSON, optional)</label>
        <textarea id="bot-config" rows={6} value={config} onChange={(e) => setConfig(e.target.value)}
          aria-describedby="bot-config-help" spellCheck={false} placeholder='{"ui": {"seamColor": "#1b40ae"}}' />
        <span id="bot-config-help" className="help">Merged over the template; null deletes a key. Secrets only
          as {'{"$secretRef": "<name>"}'}.</span>
      </div>
      <div className="field">
        <label htmlFor="bot-target">Target</label>
        <select id="bot-target" value={target} onChange={(e) => { setTarget(e.target.value); setSize(""); }}
          aria-describedby="bot-target-help">
          <option value={NO_TARGET}>None: record it only (PENDING, provision later)</option>
          {targets.map((t) => (
            <option key={t.name} value={t.name} disabled={!t.available}>
              {t.name}: {t.available ? t.description : `unavailable (${t.unavailable_reason ?? "not served here"})`}
            </option>
          ))}
        </select>
        <span id="bot-target-help" className="help">
          {fleet.target ? `The fleet's bots run on ${fleet.target} by default.` : "The fleet names no target."}
        </span>
      </div>
      {sizes.length > 0 && (
        <div className="field">
          <label htmlFor="bot-size">Size</label>
          <select id="bot-size" value={size} onChange={(e) => setSize(e.target.value)}>
            <option value="">Default ({fleetSize(fleet, target) ?? "the deployment's"})</option>
            {sizes.map((tier) => (
              <option key={tier.name} value={tier.name}>
                {tier.name}: {tier.vcpu} vCPU, {tier.memory_mb} MB{tier.hourly_usd != null ? `, $${tier.hourly_usd}/hour` : ""}
              </option>
            ))}
          </select>
        </div>
      )}
      {problem && <p role="alert" className="error">{problem}</p>}
      {action.error !== null && <ErrorBox error={action.error} />}
      <div>
        <SubmitButton op="POST /workspaces/{workspace_id}/fleets/{fleet_id}/bots" role={workspace.role} busy={action.busy}>
          Create bot
        </SubmitButton>
      </div>
    </form>
  );
}

/** Whether the target's settings take a size (the local target takes no settings at all). */
function takesSize(target: Target | undefined): boolean {
  const properties = (target?.settings_schema as { properties?: Record<string, unknown> } | null | undefined)?.properties;
  return !!target && !!properties && "size" in properties && (target.size_tiers ?? []).length > 0;
}

function fleetSize(fleet: Schemas["FleetOut"], target: string): string | null {
  const settings = fleet.target_settings?.[target] as { size?: string } | undefined;
  return settings?.size ?? null;
}

/** The fleet's topic, followed while the form is open; a create hands it to the new bot's page. */
function useFleetWatch(workspaceId: string, fleetId: string): { current: TopicWatch | null } {
  const [holder] = useState<{ current: TopicWatch | null }>(() => ({ current: null }));
  useEffect(() => {
    holder.current = new TopicWatch(`workspaces/${workspaceId}/fleets/${fleetId}`);
    return () => {
      holder.current?.close(); // not handed off: nothing follows it
      holder.current = null;
    };
  }, [holder, workspaceId, fleetId]);
  return holder;
}
