/** The admin console's entry point (gateway/web/index.html loads it). */
import './zod-jitless.ts';
import './styles.css';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';

createRoot(document.getElementById('root')!).render(<App />);
