import { describeCreateAuth } from '../../suites/create-auth.js';
import { describeOnRedis } from '../clients.js';

describeOnRedis(describeCreateAuth);
