// Uses the packed library exactly as a CommonJS app would: require() by package name.
const { once } = require('node:events');
const express = require('express');
const lib = require('express-refresh-tokens');
const { testRefreshTokenStore } = require('express-refresh-tokens/testing');

require('./run-consumer.cjs')({ express, lib, testRefreshTokenStore, once });
