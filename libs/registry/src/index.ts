export { RegistryClient, type RegistryClientOptions } from './client.js';
export { RegistryError, type RegistryErrorCode, parseRetryAfter } from './errors.js';
export type { FetchedManifest } from './manifest.js';
export {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  MANIFEST_MEDIA_TYPES,
  OCI_INDEX,
  OCI_MANIFEST,
} from './media-types.js';
export { InvalidNameError, digestOf, isDigest, isRepositoryName, isTag } from './names.js';
export type { ReferrerDescriptor, ReferrersListing } from './referrers.js';
export type { BlobOpenOptions, OpenedBlob } from './blob-stream.js';
