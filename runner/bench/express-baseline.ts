/** Baseline for the benchmark: an express JSON endpoint with the runner's HTTP path but no guest. */
import express from 'express';

const app = express();
app.post('/v1/execute', express.json({ limit: '24mb' }), (req, res) => {
  const body = req.body as { request: { method: string; path: string }; install: { config: Record<string, unknown> } };
  const payload = Buffer.from(JSON.stringify({ greeting: String(body.install.config.greeting ?? 'Hello'), tenantId: 't' })).toString('base64');
  res.json({ status: 200, headers: [['content-type', 'application/json']], bodyB64: payload, logs: [], metrics: { durationMs: 0, hostCalls: 0 } });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  console.log(`baseline listening "url":"http://127.0.0.1:${address.port}"`);
});
