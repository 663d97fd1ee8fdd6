import express from 'express';

declare const EXPRESS_MAJOR: 4 | 5;

// Guards the express4 project's mapping: if it silently stopped working, the HTTP tests would
// run twice on Express 5 and prove nothing about Express 4. (`express.query` left in Express 5.)
it(`runs the HTTP tests on Express ${EXPRESS_MAJOR}`, () => {
  expect(typeof (express as unknown as { query?: unknown }).query).toBe(EXPRESS_MAJOR === 4 ? 'function' : 'undefined');
});
