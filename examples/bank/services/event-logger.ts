// notifications, audit and analytics: subscribers that log each CloudEvent they receive (binary
// mode: attributes in ce-* headers, the original data as the body) and keep the last few for /received.
import { serve, type Request, type RunningService } from './http-service.js';

export interface LoggedEvent {
  id: string;
  type: string;
  topic?: string;
  subject?: string;
  data: unknown;
}

const KEEP = 100;

export function startEventLogger(
  name: string,
  port: number,
  path: string,
  log: (line: string) => void = console.log,
): Promise<RunningService> {
  const recent: LoggedEvent[] = [];
  const receive = ({ headers, body }: Request) => {
    const id = headers['ce-id'];
    if (typeof id !== 'string')
      return {
        status: 400,
        json: { error: `${name} expects a CloudEvent in binary mode (ce-id header missing)` },
      };
    let data: unknown = body;
    try {
      data = JSON.parse(body);
    } catch {
      /* not JSON: keep the text */
    }
    const ev: LoggedEvent = { id, type: String(headers['ce-type']), data };
    if (typeof headers['ce-topic'] === 'string') ev.topic = headers['ce-topic'];
    if (typeof headers['ce-subject'] === 'string') ev.subject = decodeURIComponent(headers['ce-subject']);
    recent.push(ev);
    if (recent.length > KEEP) recent.shift();
    log(`${name}: received ${ev.type} ${ev.subject ?? ''} (id ${ev.id}) ${JSON.stringify(data)}`);
    return { status: 204 };
  };
  return serve(name, port, {
    [`POST ${path}`]: receive,
    'GET /received': () => ({ status: 200, json: recent }),
  });
}

export const startNotifications = (port: number, log?: (line: string) => void) =>
  startEventLogger('notifications', port, '/events', log);
export const startAudit = (port: number, log?: (line: string) => void) =>
  startEventLogger('audit', port, '/events', log);
export const startAnalytics = (port: number, log?: (line: string) => void) =>
  startEventLogger('analytics', port, '/ingest', log);
