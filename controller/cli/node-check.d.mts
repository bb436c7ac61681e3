// Types of node-check.mjs, which is JavaScript so that old Nodes can run it.
export interface Runtime {
  version: string;
  platform: string;
  arch: string;
  /** The node binary, named in the message when given. */
  execPath?: string;
}
export function requiredNode(engines: string | undefined): string;
export function nodeProblem(required: string, runtime?: Runtime): string | undefined;
export function checkThisNode(): string | undefined;
