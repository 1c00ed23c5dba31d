import type { CallInputs } from '../connector/wire.js';

export interface WorkflowContext {
  /** Address at which the user's browser reaches callcard, with the base path. */
  readonly baseUrl: string;
}

/** What the CONNECTOR gets back: the created record's id and a URL that opens it. */
export interface WorkflowResult {
  readonly id?: string;
  readonly url?: string;
}

export interface Workflow {
  readonly name: string;
  /** Whether the workflow can run for contacts of this source (the card's crmActions). */
  appliesTo(source: string): boolean;
  run(call: CallInputs, context: WorkflowContext): Promise<WorkflowResult>;
}

export interface Workflows {
  /** By name, whatever its case: the CONNECTOR sends back the name the lookup gave. */
  get(name: string): Workflow | undefined;
  /** Names of the workflows that can run for a source's contacts. */
  namesFor(source: string): string[];
  /** Every workflow's name, as configured. */
  names(): string[];
}

export function createWorkflowRegistry(workflows: readonly Workflow[]): Workflows {
  const byName = new Map(workflows.map((workflow) => [workflow.name.toLowerCase(), workflow]));
  return {
    get: (name) => byName.get(name.toLowerCase()),
    namesFor: (source) => workflows.filter((workflow) => workflow.appliesTo(source)).map((w) => w.name),
    names: () => workflows.map((workflow) => workflow.name),
  };
}
