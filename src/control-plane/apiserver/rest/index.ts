/**
 * rest: the Kubernetes REST/JSON face of the apiserver, which the real kubectl uses unmodified.
 */
export {
  createRestServer,
  type Authenticate, type AuthorizeNonResource, type HealthCheck, type OpenApiSource, type RequestRecord, type RestServer, type RestServerOptions, type VersionInfo,
} from './server.js';
export { DEFAULT_MAX_BODY_BYTES } from './body.js';
export type { PodLogOptions, PodLogs } from './logs.js';
export { humanDuration } from './age.js';
export { table, tableRow, columnDefinitions } from './tables.js';
export { wireStatus } from './status.js';
