// The container's health check (ECS healthCheck, Docker HEALTHCHECK): ready when the gateway's /readyz answers 200.
const port = Number(process.env.PORT || 18789);
fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(4000) })
  .then((answer) => process.exit(answer.status === 200 ? 0 : 1), () => process.exit(1));
