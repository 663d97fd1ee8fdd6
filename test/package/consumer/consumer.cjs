// Uses the packed library exactly as a CommonJS app would: require() by package name.
const { once } = require('node:events');
const express = require('express');
const lib = require('express-refresh-tokens');
const { testRefreshTokenStore } = require('express-refresh-tokens/testing');
const postgres = require('express-refresh-tokens/postgres');

require('./run-consumer.cjs')({ express, lib, testRefreshTokenStore, postgres, once });
