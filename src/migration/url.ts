// stand-in until the migration-wire branch lands
import { VmmError } from '../errors.js';
export function parseFileUrl(url: string): string {
  if (!url.startsWith('file:///')) throw new VmmError('invalid-config', `not a file:///DIR URL: ${url}`);
  return url.slice('file://'.length);
}
