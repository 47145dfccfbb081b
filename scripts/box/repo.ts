// The checkout's root, found from this file's place (dist/scripts/box/ after the build).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'scripts', 'box', 'prepare.sh'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find scripts/box/prepare.sh above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}
