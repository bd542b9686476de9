// Lets ts-jest apply the Deepkit type compiler even where typescript is not patched.
module.exports = {
    name: 'deepkit-type-compiler',
    version: 1,
    factory: () => require('@deepkit/type-compiler').transformer,
};
