/** ts-jest with the Deepkit type compiler, so runtime types exist in tests. */
module.exports = {
    testEnvironment: 'node',
    testMatch: ['<rootDir>/tests/**/*.spec.ts'],
    transform: {
        '^.+\\.ts$': ['ts-jest', {
            astTransformers: { before: ['<rootDir>/tests/support/deepkit-transformer.js'] },
        }],
    },
    testTimeout: 60000,
};
