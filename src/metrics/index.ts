export { registry } from './registry';
export {
  countCheckoutOutcome,
  countedCommand,
  countParked,
  countRefusedForLoad,
  failureCode,
  observeProjectorBatch,
  observeProjectorLeader,
  timedAppend,
} from './observe';
export { httpMetrics, metricsEndpoint, routeTemplate, sdkMetricsFrom, serveMetrics, UNMATCHED_ROUTE, type ProjectionLag } from './http';
