// The gateway image's entrypoint: writes the bot's OpenClaw config into the state volume, then runs the gateway
// in the foreground (the container's one process, as ECS, Cloud Run and ACI expect) and passes signals to it.
//
// Env (the secrets come from the target's secret store, never as plain values in the task/service definition):
//   OPENCLAW_GATEWAY_TOKEN   the gateway's token (required)
//   CLAWSTER_GATEWAY_CONFIG  the bot's config as JSON; seeded when it differs from the one seeded last, so a
//                            restart keeps what the gateway changed since (drift is the control plane's call)
//   PORT                     the port to listen on (Cloud Run sets it; 18789 elsewhere)
//   OPENCLAW_STATE_DIR       the state dir on the persistent volume
//   OPENCLAW_GATEWAY_BIND    "lan" in a container (its network is the target's); "loopback" where it is not
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const CONFIG_ERROR_EXIT = 78; // openclaw's own exit code for a config it refuses

function fail(message) {
  console.error(`clawster-entrypoint: ${message}`);
  process.exit(CONFIG_ERROR_EXIT);
}

const token = process.env.OPENCLAW_GATEWAY_TOKEN;
if (!token) fail("OPENCLAW_GATEWAY_TOKEN is not set");
const port = Number(process.env.PORT || 18789);
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`PORT ${process.env.PORT} is not a port`);
const stateDir = process.env.OPENCLAW_STATE_DIR || "/var/lib/openclaw/state";
const bind = process.env.OPENCLAW_GATEWAY_BIND || "lan";
const configPath = process.env.OPENCLAW_CONFIG_PATH || join(stateDir, "openclaw.json");
const seedPath = join(stateDir, ".clawster-seed");
mkdirSync(stateDir, { recursive: true, mode: 0o750 });

let desired = {};
const raw = process.env.CLAWSTER_GATEWAY_CONFIG || "";
if (raw) {
  try {
    desired = JSON.parse(raw);
  } catch (error) {
    fail(`CLAWSTER_GATEWAY_CONFIG is not JSON: ${error.message}`);
  }
  if (desired === null || typeof desired !== "object" || Array.isArray(desired)) fail("CLAWSTER_GATEWAY_CONFIG is not an object");
}
const seed = createHash("sha256").update(raw).digest("hex");
const lastSeed = existsSync(seedPath) ? readFileSync(seedPath, "utf8").trim() : "";

// The file the gateway keeps, unless the control plane's desired config changed since it was seeded.
let kept = null;
try {
  kept = existsSync(configPath) ? JSON.parse(readFileSync(configPath, "utf8")) : null;
} catch {
  kept = null; // a torn or hand-broken file: start again from the desired config
}
let config = kept && seed === lastSeed ? kept : { ...desired };
// The gateway stamps `meta` into every config it writes, and restores a file without it from its last-good backup
// ("missing-meta-vs-last-good"): a reseeded config carries the meta of the file it replaces.
if (kept && kept.meta) config.meta = kept.meta;

// What the image owns whatever the config says: where it listens, its token, the admin RPC the control plane
// speaks, no self-update (the image pins the version), logs in the state dir (one gateway per container).
const gateway = { ...(config.gateway || {}), mode: "local", port, bind, auth: { mode: "token", token } };
delete gateway.customBindHost;
const plugins = { ...(config.plugins || {}) };
plugins.entries = { ...(plugins.entries || {}), "admin-http-rpc": { ...((plugins.entries || {})["admin-http-rpc"] || {}), enabled: true } };
config = {
  ...config,
  gateway,
  plugins,
  update: { ...(config.update || {}), checkOnStart: false },
  logging: { ...(config.logging || {}), file: join(stateDir, "logs", "gateway.log") },
};

function writeAtomically(path, text) {
  writeFileSync(`${path}.tmp`, text, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
writeAtomically(configPath, JSON.stringify(config, null, 2));
writeAtomically(seedPath, seed);

const entry = process.env.OPENCLAW_ENTRY || "/usr/local/lib/node_modules/openclaw/openclaw.mjs";
const child = spawn(process.execPath, [entry, "gateway", "run"], {
  stdio: "inherit",
  env: { ...process.env, OPENCLAW_STATE_DIR: stateDir, OPENCLAW_CONFIG_PATH: configPath },
});
for (const signal of ["SIGTERM", "SIGINT", "SIGUSR2"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? 128 + ({ SIGTERM: 15, SIGINT: 2, SIGKILL: 9 }[signal] || 1)));
