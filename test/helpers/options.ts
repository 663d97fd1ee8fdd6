import { ConfigurationError } from '../../src/index.js';

/** The ConfigurationError that `make` throws at start-up; fails the test when it throws none. */
export function optionError(make: () => unknown): ConfigurationError {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}
