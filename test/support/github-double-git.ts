import { createHash } from 'node:crypto';

/**
 * Real git object ids for the GitHub double: a blob, tree or commit SHA here is exactly what git
 * (and so GitHub) computes for the same content, so code under test sees realistic identifiers and
 * "unchanged blob" logic is exercised with the genuine hashing rule.
 */

export function gitObjectSha(type: 'blob' | 'tree' | 'commit', body: Buffer): string {
  return createHash('sha1').update(`${type} ${body.length}\0`).update(body).digest('hex');
}

export function blobSha(content: Buffer | string): string {
  return gitObjectSha('blob', typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
}

export interface GitIdentity {
  name: string;
  email: string;
  /** Unix seconds. */
  time: number;
}

export interface GitCommit {
  sha: string;
  treeSha: string;
  parents: string[];
  message: string;
  author: GitIdentity;
  committer: GitIdentity;
  /** path → blob sha (full paths, the flattened tree). */
  files: Map<string, string>;
}

type TreeNode = { kind: 'blob'; sha: string } | { kind: 'tree'; children: Map<string, TreeNode> };

/** Builds nested tree objects from flattened paths and returns the root tree SHA. */
export function treeSha(files: Map<string, string>): string {
  const root: TreeNode = { kind: 'tree', children: new Map() };
  for (const [path, sha] of files) {
    const parts = path.split('/');
    let node = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const name = parts[i]!;
      let child = node.children.get(name);
      if (child === undefined || child.kind !== 'tree') {
        child = { kind: 'tree', children: new Map() };
        node.children.set(name, child);
      }
      node = child;
    }
    node.children.set(parts[parts.length - 1]!, { kind: 'blob', sha });
  }
  return hashTree(root);
}

function hashTree(node: Extract<TreeNode, { kind: 'tree' }>): string {
  // git sorts entries by name, comparing a subtree's name as if it ended with "/".
  const entries = [...node.children.entries()].map(([name, child]) => ({
    name,
    child,
    sortKey: child.kind === 'tree' ? `${name}/` : name,
  }));
  entries.sort((a, b) => (Buffer.compare(Buffer.from(a.sortKey), Buffer.from(b.sortKey))));
  const parts: Buffer[] = [];
  for (const { name, child } of entries) {
    const sha = child.kind === 'blob' ? child.sha : hashTree(child);
    const mode = child.kind === 'blob' ? '100644' : '40000';
    parts.push(Buffer.from(`${mode} ${name}\0`, 'utf8'), Buffer.from(sha, 'hex'));
  }
  return gitObjectSha('tree', Buffer.concat(parts));
}

function identityLine(role: 'author' | 'committer', who: GitIdentity): string {
  return `${role} ${who.name} <${who.email}> ${who.time} +0000`;
}

export function commitSha(tree: string, parents: string[], author: GitIdentity, committer: GitIdentity, message: string): string {
  const lines = [`tree ${tree}`, ...parents.map((p) => `parent ${p}`), identityLine('author', author), identityLine('committer', committer)];
  return gitObjectSha('commit', Buffer.from(`${lines.join('\n')}\n\n${message}\n`, 'utf8'));
}
