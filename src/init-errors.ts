/** Errors specific to laying out a new repository. */
import { TufctlError } from './errors.js';

export class DirectoryError extends TufctlError {
  constructor(message: string) {
    super('DIRECTORY_NOT_EMPTY', message);
  }
}
