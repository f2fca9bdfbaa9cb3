// Editing the bot's own config layer: the JSON the API gave (GET .../bots/{id} `config`), sent back whole with
// the version it was read at (If-Match), so an edit made meanwhile is a 409, never overwritten. A new config is a
// new revision; on a running gateway the API applies it at once (the page shows that workflow live).
import { useEffect, useState, type FormEvent } from "react";
import { ApiError, api, unwrap } from "../api/client";
import { parseJsonObject, SubmitButton } from "../lib/forms";
import { ErrorBox, useAction, useWorkspace } from "../lib/ui";
import type { Bot } from "./bot_live";

const pretty = (config: unknown) => JSON.stringify(config, null, 2);

export function ConfigEditor({ bot, onSaved, onStale }: { bot: Bot; onSaved: (bot: Bot) => void; onStale: () => void }) {
  const workspace = useWorkspace();
  const [text, setText] = useState(() => pretty(bot.config));
  const [base, setBase] = useState(bot); // the bot as read when the text was last taken from it
  const [problem, setProblem] = useState<string | null>(null);
  const action = useAction();
  const dirty = text !== pretty(base.config);

  // A newer bot replaces an untouched text; an edited one keeps the user's text (saving it may then be a 409).
  useEffect(() => {
    if (!dirty && bot.version !== base.version) {
      setBase(bot);
      setText(pretty(bot.config));
    }
  }, [bot, base, dirty]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseJsonObject(text, "config");
    setProblem(parsed.error ?? null);
    if (parsed.error) return;
    let saved: Bot | undefined;
    const ok = await action.run(async () => {
      try {
        saved = unwrap(await api().PATCH("/workspaces/{workspace_id}/bots/{bot_id}", {
          params: { path: { workspace_id: workspace.id, bot_id: bot.id }, header: { "if-match": `"${base.version}"` } },
          body: { config: parsed.value ?? {} },
        }));
      } catch (error) {
        if (error instanceof ApiError && error.code === "VERSION_CONFLICT") onStale(); // read the bot as it is now
        throw error;
      }
    });
    if (ok && saved) {
      setBase(saved);
      setText(pretty(saved.config));
      onSaved(saved);
    }
  };

  const discard = () => {
    setBase(bot);
    setText(pretty(bot.config));
    setProblem(null);
    action.clear();
  };

  return (
    <section aria-labelledby="config-title">
      <h2 id="config-title">Its own config</h2>
      <form onSubmit={save} className="stack-form">
        <div className="field">
          <label htmlFor="bot-config-edit">The bot's own config layer (JSON)</label>
          <textarea id="bot-config-edit" rows={Math.min(20, Math.max(4, text.split("\n").length + 1))} value={text}
            onChange={(e) => setText(e.target.value)} spellCheck={false} aria-describedby="bot-config-edit-help" />
          <span id="bot-config-edit-help" className="help">Merged over its template, its fleet's profiles and the
            overlays that select it (null deletes a key). Saving makes a new revision, applied at once to a running
            gateway. Edited from version {base.version}{bot.version !== base.version ? `; the bot is at version ${bot.version} now` : ""}.</span>
        </div>
        {problem && <p role="alert" className="error">{problem}</p>}
        {action.error !== null && <ErrorBox error={action.error} />}
        <div className="toolbar">
          <SubmitButton op="PATCH /workspaces/{workspace_id}/bots/{bot_id}" role={workspace.role} busy={action.busy}>
            Save config
          </SubmitButton>
          <button type="button" onClick={discard} disabled={!dirty && bot.version === base.version}>
            Discard changes and reload
          </button>
        </div>
      </form>
    </section>
  );
}
