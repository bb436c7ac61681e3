// A scripted EC2 Query-protocol endpoint on 127.0.0.1 for adapter tests: every request is recorded with
// its action, form parameters and the region of its SigV4 credential scope, and answered by the next
// scripted reply for that action (or a default).
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  action: string;
  region: string;
  params: Record<string, string>;
}

export type Reply =
  | { status?: number; body: string }
  | { error: string; message: string; status: number }
  /** Closes the connection without answering, as a failing load balancer would. */
  | { hangUp: true };

export interface Ec2TestServer {
  endpoint: string;
  requests: RecordedRequest[];
  /** Queues replies for an action; once they are used up, the default reply (an empty success) answers. */
  reply(action: string, ...replies: Reply[]): void;
  close(): Promise<void>;
}

export function ok(action: string, inner = ""): Reply {
  return {
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId>${inner}</${action}Response>`,
  };
}

export function ec2Error(status: number, code: string, message: string): Reply {
  return { status, error: code, message };
}

export function xmlEscape(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

export function tagSet(tags: Record<string, string>): string {
  const items = Object.entries(tags)
    .map(([k, v]) => `<item><key>${xmlEscape(k)}</key><value>${xmlEscape(v)}</value></item>`)
    .join("");
  return `<tagSet>${items}</tagSet>`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startEc2TestServer(): Promise<Ec2TestServer> {
  const requests: RecordedRequest[] = [];
  const queues = new Map<string, Reply[]>();
  const server: Server = createServer(async (req, res) => {
    const params = Object.fromEntries(new URLSearchParams(await readBody(req)));
    const action = params.Action ?? "";
    delete params.Action;
    delete params.Version;
    const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/ec2\//.exec(req.headers.authorization ?? "");
    requests.push({ action, region: scope?.[1] ?? "unsigned", params });
    const reply = queues.get(action)?.shift() ?? ok(action, "<return>true</return>");
    if ("hangUp" in reply) {
      req.socket.destroy();
      return;
    }
    if ("error" in reply) {
      res.writeHead(reply.status, { "content-type": "text/xml;charset=UTF-8" });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${reply.error}</Code><Message>${xmlEscape(reply.message)}</Message></Error></Errors><RequestID>req-err</RequestID></Response>`,
      );
      return;
    }
    res.writeHead(reply.status ?? 200, { "content-type": "text/xml;charset=UTF-8" });
    res.end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    reply(action, ...replies) {
      queues.set(action, [...(queues.get(action) ?? []), ...replies]);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
