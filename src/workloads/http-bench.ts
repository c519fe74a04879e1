/**
 * Raw write throughput against one HTTP address with autocannon: PUTs of a small value over a
 * fixed set of keys, N keep-alive connections, fixed duration. Latency quantiles come from
 * autocannon's HdrHistogram (hdr-histogram-js). No checking of results: that is the workloads' job.
 */
import autocannon from 'autocannon';

export interface HttpBenchOptions {
  /** host:port to drive. */
  address: string;
  /** @default 64 */
  connections?: number;
  /** @default 10 */
  durationSec?: number;
  /** @default 100 */
  valueBytes?: number;
  /** Keys cycle through this many names. @default 10000 */
  keySpace?: number;
  /** PUT (writes) or GET (reads of keys that must exist). @default 'PUT' */
  method?: 'PUT' | 'GET';
}

export interface HttpBenchResult {
  requestsPerSec: number;
  total: number;
  non2xx: number;
  errors: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number };
}

export async function runHttpBench(o: HttpBenchOptions): Promise<HttpBenchResult> {
  const value = 'x'.repeat(o.valueBytes ?? 100);
  const keySpace = o.keySpace ?? 10_000;
  let i = 0;
  const result = await autocannon({
    url: `http://${o.address}`,
    connections: o.connections ?? 64,
    duration: o.durationSec ?? 10,
    requests: [
      o.method === 'GET'
        ? { method: 'GET', setupRequest: (req) => ({ ...req, path: `/kv/bench-${i++ % keySpace}` }) }
        : { method: 'PUT', body: value, setupRequest: (req) => ({ ...req, path: `/kv/bench-${i++ % keySpace}` }) },
    ],
  });
  return {
    requestsPerSec: result.requests.average,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, p999: result.latency.p99_9, max: result.latency.max },
  };
}
