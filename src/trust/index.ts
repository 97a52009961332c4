/** Trust data: formats, validation and the parsed channel model. */
export * from './model.js';
export * from './problems.js';
export { validateTrustData, loadChannel, trustChannels, channelPrefix, CHANNELS } from './validate-trust.js';
export type { ValidateTrustOptions, ChannelModel, ChannelPolicy } from './validate-trust.js';
export { parseSource, readSource, formatFieldPath } from './yaml-source.js';
export type { SourceDocument, FieldPath } from './yaml-source.js';
export { schemaProblems, schemaUrl, matchesSchema } from './schemas.js';
export type { SchemaName } from './schemas.js';
export { parseGoRegexp, re2Problem, goReplaceAll, goMatch, templateReferences, exampleStrings } from './re2.js';
export { platformProblem } from './mapping-rules.js';
export { signerKeyId, parseSignerPublicKey, looksLikePrivateKey } from './signer-key-rules.js';
export { regoProblems } from './rego-check.js';
