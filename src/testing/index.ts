/**
 * The public test kit, imported as `turnwise/testing`: tools for testing environments, rewards and
 * training code without a model or a network.
 */
export {};
