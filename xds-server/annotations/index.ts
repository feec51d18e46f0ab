// Route annotations on Kubernetes objects → EventRoutes (pure; docs/event-emitter.md, "Kubernetes routes").
// The seam for the Kubernetes source: feed it the HTTPRoutes / VirtualServices an informer holds,
// add `eventRoutes` to the mesh documents, and write `problemEvents(problems)` as Events.
export { ANNOTATION_PREFIX, ruleAnnotations, type RouteKind, type RuleAnnotation } from './convention.js';
export { httpRouteEventRoutes, httpRouteRules } from './httproute.js';
export { virtualServiceEventRoutes, virtualServiceRules } from './virtualservice.js';
export {
  labelOf,
  problemEvents,
  translateRules,
  type AnnotationProblem,
  type AnnotationResult,
  type EventRouteDocument,
  type ObjectRef,
  type RequestMatch,
  type RouteRule,
} from './translate.js';
