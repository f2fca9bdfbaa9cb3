// Prints, as a sorted JSON list, the config paths the installed OpenClaw gateway marks sensitive in its
// config schema hints: the paths `config.get` answers with "__OPENCLAW_REDACTED__" (besides its
// key-name rule, src/config/sensitive-paths.ts, which clawster/domain/config_policy.py ports).
// Usage: node scripts/openclaw_secret_paths.mjs <openclaw package dir>   (run with HOME set to an empty
// folder, so no local config adds plugins). tests/unit/test_config_policy.py compares the output with
// clawster/domain/openclaw_secret_paths.py.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const dist = join(process.argv[2], "dist");
for (const file of readdirSync(dist).filter((f) => /^runtime-schema-.*\.mjs$/.test(f))) {
  const mod = await import(pathToFileURL(join(dist, file)).href);
  if (typeof mod.readBestEffortRuntimeConfigSchema !== "function") continue;
  const { uiHints } = await mod.readBestEffortRuntimeConfigSchema();
  const paths = Object.entries(uiHints).filter(([, hint]) => hint?.sensitive === true).map(([path]) => path);
  process.stdout.write(JSON.stringify([...new Set(paths)].sort()) + "\n");
  process.exit(0);
}
console.error("no runtime-schema module exporting readBestEffortRuntimeConfigSchema under " + dist);
process.exit(1);
