// The workflow bundle's entry: every workflow type the worker runs.
export { orderWorkflow } from './order';
export { checkoutWorkflow } from './checkout';
