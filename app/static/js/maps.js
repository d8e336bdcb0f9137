// Map pages: the controls change the map only when the reader presses "Ver" (WCAG 3.2.2,
// on input): choosing an option never reloads the page by itself. Nothing else to do here.
