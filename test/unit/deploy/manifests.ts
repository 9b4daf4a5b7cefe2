/**
 * Reads what `kubectl apply -k deploy/kubernetes/` and `docker build .` would read: the kustomization's objects by
 * kind, the gateway config the ConfigMap carries, and the Dockerfile as stages of instructions.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const manifestDir = `${repoRoot}deploy/kubernetes/`;

/** A Kubernetes object as parsed: only the fields the tests read are typed, the rest stays open. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

export interface Kustomization {
  resources: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

export function readKustomization(): Kustomization {
  return parse(readFileSync(`${manifestDir}kustomization.yaml`, 'utf8')) as Kustomization;
}

/** Every object of every file the kustomization lists, in order; a YAML error throws. */
export function readManifests(): K8sObject[] {
  return readKustomization().resources.flatMap((file) =>
    parseAllDocuments(readFileSync(`${manifestDir}${file}`, 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return doc.toJS() as K8sObject;
    }),
  );
}

/** The one object of `kind` (and `name`, when there are several). */
export function objectOf(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** The ConfigMap's config file: its key is the file name the container reads. */
export function configFileOf(objects: readonly K8sObject[]): { name: string; text: string } {
  const data = objectOf(objects, 'ConfigMap').data ?? {};
  const names = Object.keys(data).filter((key) => key.endsWith('.json'));
  if (names.length !== 1) throw new Error(`the ConfigMap should hold one .json config file, holds ${names.join(', ')}`);
  return { name: names[0]!, text: data[names[0]!]! };
}

/** One Dockerfile instruction, continuation lines joined; `json` is set for the exec form (`["node", …]`). */
export interface DockerInstruction {
  op: string;
  args: string;
  json?: string[];
}

export interface DockerStage {
  from: string;
  name: string | undefined;
  instructions: DockerInstruction[];
}

export function readDockerfile(): DockerStage[] {
  const lines = readFileSync(`${repoRoot}Dockerfile`, 'utf8').split('\n');
  const instructions: DockerInstruction[] = [];
  let pending = '';
  for (const raw of lines) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const text = pending + line;
    pending = '';
    const space = text.indexOf(' ');
    const op = text.slice(0, space).toUpperCase();
    const args = text.slice(space + 1).trim();
    const execForm = (op === 'CMD' || op === 'ENTRYPOINT') && args.startsWith('[');
    instructions.push({ op, args, ...(execForm ? { json: JSON.parse(args) as string[] } : {}) });
  }
  const stages: DockerStage[] = [];
  for (const instruction of instructions) {
    if (instruction.op === 'FROM') {
      const [from, as, name] = instruction.args.split(/\s+/);
      stages.push({ from: from!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** `"2"`, `"1500m"` or `2` → cores. */
export function cpuCores(quantity: string | number): number {
  const text = String(quantity);
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
}
