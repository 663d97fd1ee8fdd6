// Uses the packed library exactly as an ES module app would: import by package name.
import { once } from 'node:events';
import { createRequire } from 'node:module';
import express from 'express';
import * as lib from 'express-refresh-tokens';
import { testRefreshTokenStore } from 'express-refresh-tokens/testing';
import * as postgres from 'express-refresh-tokens/postgres';

createRequire(import.meta.url)('./run-consumer.cjs')({ express, lib, testRefreshTokenStore, postgres, once });
