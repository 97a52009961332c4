/**
 * The sample image list policy impact is measured on: a text file in the
 * repository (tufctl.json `imageSamples`, default `images.txt`), one image
 * reference per line, optionally followed by a platform, `#` comments.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import { TufctlError } from '../errors.js';
import { platformProblem } from './mapping-rules.js';
import { normalizeImageName } from './image-names.js';
import { compileMapping, resolvePolicy, rulesUsed } from './policy-resolution.js';
import { exampleStrings } from './re2.js';
import { loadChannel } from './validate-trust.js';

/** The default sample list, relative to the repository root. */
export const DEFAULT_IMAGE_SAMPLES = 'images.txt';
/** Platform a sample without one is evaluated on when no rule names platforms (the verifier's default on amd64 hosts). */
export const DEFAULT_SAMPLE_PLATFORM = 'linux/amd64';
/** Most samples one evaluation takes (all lists together). */
export const MAX_IMAGE_SAMPLES = 1000;
/** Largest sample list file read. */
export const MAX_IMAGE_LIST_BYTES = 1024 * 1024;

export interface ImageSample {
  /** Where it is listed: `images.txt:3`. */
  source: string;
  /** The reference as written. */
  reference: string;
  /** The normalised name the verifier matches (`docker.io/library/alpine`). */
  name: string;
  /** The platform given on the line (os/arch[/variant]), if any. */
  platform?: string;
}

function invalid(message: string, details: string[] = []): TufctlError {
  return new TufctlError('IMAGE_LIST_INVALID', message, details);
}

/** Shown in a message: printable and short. */
function shown(text: string): string {
  const cut = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return JSON.stringify(cut);
}

/**
 * The samples of a list's text. Throws IMAGE_LIST_INVALID naming every
 * malformed line (`images.txt:3: …`): a reference the verifier could not
 * parse, a platform that is not os/arch[/variant], more than two fields.
 */
export function parseImageSamples(text: string, file: string): ImageSample[] {
  const samples: ImageSample[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const where = `${file}:${i + 1}`;
    const hash = raw.search(/(^|\s)#/);
    const line = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    if (line === '') return;
    const fields = line.split(/\s+/);
    if (fields.length > 2) {
      problems.push(`${where}: expected an image reference and at most one platform, found ${fields.length} fields`);
      return;
    }
    const [reference, platform] = fields as [string, string | undefined];
    const normalized = normalizeImageName(reference);
    if (!normalized.ok) {
      problems.push(`${where}: ${shown(reference)} is not an image reference the verifier accepts: ${normalized.error}`);
      return;
    }
    if (platform !== undefined) {
      const problem = platformProblem(platform);
      if (problem) {
        problems.push(`${where}: ${problem.length > 200 ? `${problem.slice(0, 200)}…` : problem}`);
        return;
      }
    }
    samples.push({ source: where, reference, name: normalized.name, ...(platform !== undefined ? { platform } : {}) });
  });
  if (problems.length === 1) throw invalid(problems[0]!);
  if (problems.length > 1) throw invalid(`${file}: ${problems.length} malformed lines`, problems);
  if (samples.length > MAX_IMAGE_SAMPLES) {
    throw invalid(`${file}: ${samples.length} images; a sample list may hold at most ${MAX_IMAGE_SAMPLES}`);
  }
  return samples;
}

/**
 * Reads a sample list file. `label` names it in messages. Symbolic links are
 * refused (a list in a pull request must not make tufctl print another file).
 */
export function readImageSamples(path: string, label: string): ImageSample[] {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (error) {
    throw invalid(`${label} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (stat.isSymbolicLink()) throw invalid(`${label} is a symbolic link; the sample image list must be a regular file`);
  if (!stat.isFile()) throw invalid(`${label} is not a regular file`);
  if (stat.size > MAX_IMAGE_LIST_BYTES)
    throw invalid(`${label} is ${stat.size} bytes; a sample list may be at most ${MAX_IMAGE_LIST_BYTES}`);
  const bytes = readFileSync(path);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.includes('\0')) throw invalid(`${label} is not a text file`);
  return parseImageSamples(text, label);
}

/**
 * The repository's own sample list (`file` relative to `repoDir`): undefined
 * when the file does not exist.
 */
export function repositoryImageSamples(repoDir: string, file: string): ImageSample[] | undefined {
  const path = join(repoDir, ...file.split('/'));
  try {
    lstatSync(path);
  } catch {
    return undefined;
  }
  return readImageSamples(path, file);
}

export interface GatheredSamples {
  samples: ImageSample[];
  /** The lists read, as named in messages. */
  lists: string[];
  /** Problems that did not stop the evaluation (when not strict). */
  warnings: string[];
}

/**
 * The samples for an impact evaluation: the repository's own list (named by
 * `repoDir`'s tufctl.json, default images.txt; a missing default list is no
 * samples) and `extra` lists. `strict`: a problem throws IMAGE_LIST_INVALID
 * (or CONFIG_INVALID); otherwise it is a warning and the list is skipped.
 */
export function gatherImageSamples(repoDir: string, extra: Array<{ path: string; label: string }>, strict: boolean): GatheredSamples {
  const out: GatheredSamples = { samples: [], lists: [], warnings: [] };
  const attempt = (read: () => ImageSample[] | undefined, label: string): void => {
    try {
      const samples = read();
      if (samples === undefined) return;
      out.samples.push(...samples);
      out.lists.push(label);
    } catch (error) {
      if (strict) throw error;
      out.warnings.push((error as Error).message);
    }
  };
  let file = DEFAULT_IMAGE_SAMPLES;
  let configured = false;
  attempt(() => {
    const named = loadConfig(repoDir).imageSamples;
    if (named !== undefined) [file, configured] = [named, true];
    return undefined;
  }, 'tufctl.json');
  attempt(() => {
    const samples = repositoryImageSamples(repoDir, file);
    if (samples === undefined && configured) throw invalid(`tufctl.json names the sample image list ${file}, which does not exist`);
    return samples;
  }, file);
  for (const list of extra) attempt(() => readImageSamples(list.path, list.label), list.label);
  if (out.samples.length > MAX_IMAGE_SAMPLES) {
    const error = invalid(`${out.samples.length} sample images in all; at most ${MAX_IMAGE_SAMPLES} are evaluated`);
    if (strict) throw error;
    out.warnings.push(error.message);
    out.samples = out.samples.slice(0, MAX_IMAGE_SAMPLES);
  }
  return out;
}

/** Well-known image names tried against each rule when a sample list is seeded. */
const WELL_KNOWN = ['alpine', 'busybox', 'nginx', 'ubuntu', 'debian', 'python', 'node', 'redis', 'postgres', 'golang'];

/**
 * The text of a new sample list for a mapping: for each rule, up to two
 * well-known official images it decides for (through rewrites too), and the
 * first of them once more on each platform the rule names; when none fits,
 * example names built from the rule's pattern that are valid references.
 * `rulesUsed(name, platform)` lists the rules the verifier would apply to an
 * image (rewrites, then the rule that decides).
 */
export function seedImageSamples(
  rules: Array<{ index: number; platforms: string[]; examples: string[] }>,
  rulesUsed: (name: string, platform: string | undefined) => number[],
): string {
  const lines = [
    '# Sample images: `tufctl policy impact` and `tufctl validate` show which policy each one',
    '# gets before and after a change of the policy mapping.',
    '# One image reference per line, optionally followed by a platform (os/arch[/variant]);',
    '# names are normalised as the verifier does (alpine → docker.io/library/alpine).',
    '# Without a platform, an image is evaluated on every platform the mapping names and on linux/amd64.',
  ];
  const seen = new Set<string>();
  const add = (name: string, platform?: string): void => {
    const line = platform ? `${name} ${platform}` : name;
    if (!seen.has(line)) lines.push(line);
    seen.add(line);
  };
  for (const rule of rules) {
    const fitting: string[] = [];
    for (const candidate of WELL_KNOWN.map((n) => `docker.io/library/${n}`)) {
      const platform = rule.platforms[0];
      if (fitting.length < 2 && rulesUsed(candidate, platform).includes(rule.index)) fitting.push(candidate);
    }
    if (fitting.length === 0) {
      for (const example of rule.examples) {
        const normalized = normalizeImageName(example);
        if (normalized.ok && fitting.length < 1 && rulesUsed(normalized.name, rule.platforms[0]).includes(rule.index))
          fitting.push(normalized.name);
      }
    }
    fitting.forEach((name, k) => {
      if (rule.platforms.length === 0) add(name);
      else if (k === 0) for (const platform of rule.platforms) add(name, platform);
    });
  }
  return lines.join('\n') + '\n';
}

/** The text of a new sample list for the repository's top-level mapping (only the comments without one). */
export function initialImageSamples(repoDir: string): string {
  let rules: Parameters<typeof seedImageSamples>[0] = [];
  let used: Parameters<typeof seedImageSamples>[1] = () => [];
  try {
    const compiled = compileMapping(loadChannel(repoDir, '').mapping);
    if (compiled.ok) {
      const mapping = compiled.mapping;
      rules = mapping.rules.map((r) => ({ index: r.index, platforms: r.platforms, examples: exampleStrings(r.re) ?? [] }));
      used = (name, platform) => rulesUsed(resolvePolicy(mapping, name, platform ?? DEFAULT_SAMPLE_PLATFORM));
    }
  } catch {
    // No usable mapping (e.g. init --no-policies): the list starts with its comments only.
  }
  return seedImageSamples(rules, used);
}
